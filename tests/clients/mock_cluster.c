/* mock_cluster: librdkafka's own mock Kafka cluster as a stand-alone broker, a second
 * broker to run the client tests against (and to compare kappa serve's behaviour with).
 *
 *   mock_cluster [--brokers N] [--debug CONTEXTS]
 *
 * Starts a mock cluster (N brokers, default 1) listening on loopback ports, prints its
 * bootstrap address ("127.0.0.1:PORT[,...]") as the first line on stdout, then reads
 * one command per line on stdin and answers each with one line, "ok" or "error: ...":
 *
 *   topic NAME PARTITIONS      create a topic (the 2.0.2 mock has no CreateTopics)
 *   down [BROKER]              take a broker down (default 1): it drops connections
 *   up [BROKER]                bring it back
 *   errors APIKEY CODE...      the next requests with APIKEY fail with these codes
 *   apiversion APIKEY MIN MAX  change the advertised range (-1 -1 removes the API)
 *   quit                       destroy the cluster and exit 0 (so does end of input)
 *
 * --debug sets librdkafka's debug contexts of the cluster's handle (e.g. "mock": every
 * request the mock broker receives, with its API version) and logs them on stderr.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 64

static void reply(const char *msg) {
  fputs(msg, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static void reply_err(rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    reply("ok");
  } else {
    printf("error: %s\n", rd_kafka_err2str(err));
    fflush(stdout);
  }
}

/* strtol with the whole token required to be a number in [lo, hi]. */
static int parse_int(const char *s, long lo, long hi, long *out) {
  char *end;
  if (!s || !*s) return 0;
  long v = strtol(s, &end, 10);
  if (*end || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

int main(int argc, char **argv) {
  long brokers = 1;
  const char *debug = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc &&
        parse_int(argv[i + 1], 1, 16, &brokers)) {
      i++;
    } else if (strcmp(argv[i], "--debug") == 0 && i + 1 < argc) {
      debug = argv[++i];
    } else {
      fprintf(stderr, "usage: %s [--brokers N] [--debug CONTEXTS]\n", argv[0]);
      return 2;
    }
  }

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only does the mock's book keeping: keep it quiet and off the network. */
  if (rd_kafka_conf_set(conf, "log_level", debug ? "7" : "3", errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    fprintf(stderr, "mock_cluster: %s\n", errstr);
    return 1;
  }
  if (debug && rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "mock_cluster: --debug: %s\n", errstr);
    return 2;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "mock_cluster: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
  if (!mc) {
    fprintf(stderr, "mock_cluster: cannot create the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  reply(rd_kafka_mock_cluster_bootstraps(mc));

  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r\n", &save);
    if (!cmd) continue;
    if (strcmp(cmd, "quit") == 0) {
      reply("ok");
      break;
    } else if (strcmp(cmd, "topic") == 0) {
      char *name = strtok_r(NULL, " \t\r\n", &save);
      long parts;
      if (!name || !parse_int(strtok_r(NULL, " \t\r\n", &save), 1, 100000, &parts)) {
        reply("error: usage: topic NAME PARTITIONS");
        continue;
      }
      reply_err(rd_kafka_mock_topic_create(mc, name, (int)parts, 1));
    } else if (strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) {
      long id = 1;
      char *arg = strtok_r(NULL, " \t\r\n", &save);
      if (arg && !parse_int(arg, 1, brokers, &id)) {
        reply("error: no such broker");
        continue;
      }
      reply_err(cmd[0] == 'd' ? rd_kafka_mock_broker_set_down(mc, (int32_t)id)
                              : rd_kafka_mock_broker_set_up(mc, (int32_t)id));
    } else if (strcmp(cmd, "errors") == 0) {
      long key, code;
      rd_kafka_resp_err_t errs[MAX_ERRORS];
      size_t n = 0;
      int bad = !parse_int(strtok_r(NULL, " \t\r\n", &save), 0, 32767, &key);
      char *tok;
      while (!bad && (tok = strtok_r(NULL, " \t\r\n", &save))) {
        if (n == MAX_ERRORS || !parse_int(tok, -200, 32767, &code)) bad = 1;
        else errs[n++] = (rd_kafka_resp_err_t)code;
      }
      if (bad || n == 0) {
        reply("error: usage: errors APIKEY CODE... (at most 64 codes)");
        continue;
      }
      rd_kafka_mock_push_request_errors_array(mc, (int16_t)key, n, errs);
      reply("ok");
    } else if (strcmp(cmd, "apiversion") == 0) {
      long key, lo, hi;
      if (!parse_int(strtok_r(NULL, " \t\r\n", &save), 0, 32767, &key) ||
          !parse_int(strtok_r(NULL, " \t\r\n", &save), -1, 32767, &lo) ||
          !parse_int(strtok_r(NULL, " \t\r\n", &save), -1, 32767, &hi)) {
        reply("error: usage: apiversion APIKEY MIN MAX");
        continue;
      }
      reply_err(rd_kafka_mock_set_apiversion(mc, (int16_t)key, (int16_t)lo, (int16_t)hi));
    } else {
      reply("error: unknown command (topic, down, up, errors, apiversion, quit)");
    }
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
