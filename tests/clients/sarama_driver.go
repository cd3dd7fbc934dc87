// sarama_driver: Go's sarama client (Debian's golang-github-shopify-sarama-dev) driven
// from kappa's client tests.  Prints JSON lines; exits non-zero on failure; every
// wait is bounded by --timeout.
//
//	sarama_driver --bootstrap H:P [--version 0.11.0.0] [--timeout S] produce --topic T --count N [--prefix P] [--compression none|gzip|snappy|lz4|zstd]
//	sarama_driver --bootstrap H:P consume --topic T --partition P --count N [--offset oldest|newest|N]
//	sarama_driver --bootstrap H:P group --topic T --group G --count N
//	sarama_driver --bootstrap H:P metadata
//
// Records are key "<prefix>k<i>", value "<prefix>v<i>" (the other drivers use the same
// names).  sarama never negotiates versions: config.Version picks them, and it must be
// at least 0.11 for record batches (magic 2).
//
// Built in GOPATH mode against Debian's sources, offline:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build sarama_driver.go
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func emit(m map[string]interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	out.Encode(m)
}

func fail(format string, a ...interface{}) {
	emit(map[string]interface{}{"event": "error", "error": fmt.Sprintf(format, a...)})
	os.Exit(1)
}

func record(event string, m *sarama.ConsumerMessage) map[string]interface{} {
	return map[string]interface{}{"event": event, "topic": m.Topic, "partition": m.Partition,
		"offset": m.Offset, "key": string(m.Key), "value": string(m.Value),
		"timestamp": m.Timestamp.UnixNano() / int64(time.Millisecond)}
}

type groupHandler struct {
	count    int
	seen     int
	mu       sync.Mutex
	finished chan struct{}
	once     sync.Once
}

func (h *groupHandler) Setup(s sarama.ConsumerGroupSession) error {
	for topic, parts := range s.Claims() {
		emit(map[string]interface{}{"event": "assigned", "topic": topic, "partitions": parts,
			"member": s.MemberID(), "generation": s.GenerationID()})
	}
	return nil
}

func (h *groupHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	emit(map[string]interface{}{"event": "revoked", "member": s.MemberID()})
	return nil
}

func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		emit(record("record", m))
		s.MarkMessage(m, "")
		h.mu.Lock()
		h.seen++
		if h.seen >= h.count {
			h.once.Do(func() { close(h.finished) })
		}
		h.mu.Unlock()
	}
	return nil
}

func main() {
	bootstrap := flag.String("bootstrap", "", "HOST:PORT[,HOST:PORT]")
	version := flag.String("version", "0.11.0.0", "Kafka version that picks sarama's request versions (>= 0.11.0.0)")
	timeout := flag.Float64("timeout", 20, "seconds before giving up")
	flag.Parse()
	args := flag.Args()
	if *bootstrap == "" || len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: sarama_driver --bootstrap H:P [--version V] [--timeout S] produce|consume|group|metadata ...")
		os.Exit(2)
	}
	sub := flag.NewFlagSet(args[0], flag.ExitOnError)
	topic := sub.String("topic", "", "topic")
	count := sub.Int("count", 0, "records")
	prefix := sub.String("prefix", "", "key/value prefix")
	partition := sub.Int("partition", 0, "partition (consume)")
	offset := sub.String("offset", "oldest", "oldest|newest|N (consume)")
	group := sub.String("group", "", "consumer group (group)")
	compression := sub.String("compression", "none", "none|gzip|snappy|lz4|zstd (produce)")
	sub.Parse(args[1:])

	kv, err := sarama.ParseKafkaVersion(*version)
	if err != nil {
		fail("--version: %v", err)
	}
	cfg := sarama.NewConfig()
	cfg.Version = kv
	cfg.ClientID = "kappa-sarama-driver"
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Metadata.Retry.Max = 10
	cfg.Metadata.Retry.Backoff = 200 * time.Millisecond
	addrs := strings.Split(*bootstrap, ",")
	d := time.Duration(*timeout * float64(time.Second))
	// A last resort: whatever hangs, the process ends.
	time.AfterFunc(d+5*time.Second, func() { fail("timed out after %v", d) })

	switch args[0] {
	case "produce":
		cfg.Producer.Return.Successes = true
		cfg.Producer.RequiredAcks = sarama.WaitForAll
		cfg.Producer.Retry.Max = 10
		cfg.Producer.Retry.Backoff = 200 * time.Millisecond
		codecs := map[string]sarama.CompressionCodec{"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP,
			"snappy": sarama.CompressionSnappy, "lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD}
		codec, known := codecs[*compression]
		if !known {
			fail("--compression %q: not one of none, gzip, snappy, lz4, zstd", *compression)
		}
		cfg.Producer.Compression = codec
		p, err := sarama.NewSyncProducer(addrs, cfg)
		if err != nil {
			fail("NewSyncProducer: %v", err)
		}
		for i := 0; i < *count; i++ {
			k, v := fmt.Sprintf("%sk%d", *prefix, i), fmt.Sprintf("%sv%d", *prefix, i)
			part, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: *topic,
				Key: sarama.StringEncoder(k), Value: sarama.StringEncoder(v)})
			if err != nil {
				fail("SendMessage %d: %v", i, err)
			}
			emit(map[string]interface{}{"event": "delivered", "topic": *topic, "partition": part,
				"offset": off, "key": k, "value": v})
		}
		if err := p.Close(); err != nil {
			fail("Close: %v", err)
		}
		emit(map[string]interface{}{"event": "done", "count": *count})

	case "consume":
		c, err := sarama.NewConsumer(addrs, cfg)
		if err != nil {
			fail("NewConsumer: %v", err)
		}
		start := sarama.OffsetOldest
		switch *offset {
		case "oldest":
		case "newest":
			start = sarama.OffsetNewest
		default:
			if start, err = strconv.ParseInt(*offset, 10, 64); err != nil {
				fail("--offset: %v", err)
			}
		}
		pc, err := c.ConsumePartition(*topic, int32(*partition), start)
		if err != nil {
			fail("ConsumePartition: %v", err)
		}
		deadline := time.After(d)
		for n := 0; n < *count; n++ {
			select {
			case m := <-pc.Messages():
				emit(record("record", m))
			case e := <-pc.Errors():
				fail("consume: %v", e)
			case <-deadline:
				fail("consumed %d of %d records in %v", n, *count, d)
			}
		}
		pc.Close()
		c.Close()
		emit(map[string]interface{}{"event": "done", "count": *count})

	case "group":
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
		cfg.Consumer.Return.Errors = true
		cfg.Consumer.Offsets.CommitInterval = 200 * time.Millisecond
		g, err := sarama.NewConsumerGroup(addrs, *group, cfg)
		if err != nil {
			fail("NewConsumerGroup: %v", err)
		}
		go func() {
			for e := range g.Errors() {
				emit(map[string]interface{}{"event": "warning", "error": e.Error()})
			}
		}()
		h := &groupHandler{count: *count, finished: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			for ctx.Err() == nil {
				if err := g.Consume(ctx, []string{*topic}, h); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		select {
		case <-h.finished:
		case err := <-done:
			fail("Consume: %v", err)
		case <-time.After(d):
			fail("group consumed %d of %d records in %v", h.seen, *count, d)
		}
		cancel()
		<-done
		// Close commits what was marked and leaves the group.
		if err := g.Close(); err != nil {
			fail("Close: %v", err)
		}
		emit(map[string]interface{}{"event": "done", "count": h.seen})

	case "metadata":
		cl, err := sarama.NewClient(addrs, cfg)
		if err != nil {
			fail("NewClient: %v", err)
		}
		topics, err := cl.Topics()
		if err != nil {
			fail("Topics: %v", err)
		}
		for _, t := range topics {
			parts, _ := cl.Partitions(t)
			emit(map[string]interface{}{"event": "topic", "topic": t, "partitions": len(parts)})
		}
		for _, b := range cl.Brokers() {
			emit(map[string]interface{}{"event": "broker", "id": b.ID(), "addr": b.Addr()})
		}
		cl.Close()
		emit(map[string]interface{}{"event": "done"})

	default:
		fail("unknown subcommand %q", args[0])
	}
}
