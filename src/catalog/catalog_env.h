// The catalog's LMDB environment and the small helpers every part of the
// catalog uses (catalog.cc, catalog_mirrors.cc): private to src/catalog.
#pragma once

#include <lmdb.h>

#include <string>

#include "kappa/catalog.h"

namespace kappa {

// The named databases of DIR/meta/data.mdb.
struct catalog::env {
  MDB_env* e = nullptr;
  MDB_dbi topics = 0, groups = 0, settings = 0, checkpoints = 0, aliases = 0, jobs = 0, live = 0, mirrors = 0;
  ~env() {
    if (e) mdb_env_close(e);
  }
};

namespace catalog_detail {

constexpr size_t kMapSize = size_t{16} << 30;  // address space only; the file grows as needed

inline Status lmdb_error(const std::string& what, int rc) {
  return Status::IOError("catalog " + what + ": " + mdb_strerror(rc));
}

inline MDB_val val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string str(const MDB_val& v) { return std::string(static_cast<const char*>(v.mv_data), v.mv_size); }

// A transaction that aborts unless committed.
class txn {
 public:
  txn(MDB_env* env, bool write) { rc_ = mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &t_); }
  ~txn() {
    if (t_) mdb_txn_abort(t_);
  }
  txn(const txn&) = delete;
  txn& operator=(const txn&) = delete;
  int rc() const { return rc_; }
  MDB_txn* get() { return t_; }
  int commit() {
    int rc = mdb_txn_commit(t_);
    t_ = nullptr;
    return rc;
  }

 private:
  MDB_txn* t_ = nullptr;
  int rc_;
};

}  // namespace catalog_detail
}  // namespace kappa
