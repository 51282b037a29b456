/*
 * quic_client.c - fuzz target: a tern client in QUIC against a fuzzer-driven
 * server (fuzz.h gives the input format; gen_corpus.c records the seeds
 * from real handshakes of every kind).
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)fz_run_input(TERN_CLIENT, 0, data, size);
  return 0;
}
