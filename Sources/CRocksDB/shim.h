#ifndef KIZUNA_CROCKSDB_SHIM_H
#define KIZUNA_CROCKSDB_SHIM_H
// RocksDB's C API, exposed to Swift as one thin module. Swift wraps it once, in KizunaRocksDB.
#include <rocksdb/c.h>
#endif
