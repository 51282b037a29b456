/*
 * proof_threads.h - forced into every file of the ticket proof
 * (-include): EVA analyses one thread, so the key ring's GCC atomic
 * builtins become the plain loads and stores they are on one thread and
 * the thread-local cache pointer an ordinary static. The seqlock's
 * concurrency is tested (tests/test_ticket.c, 2 threads), not proven.
 */
#ifndef TERN_PROOF_THREADS_H
#define TERN_PROOF_THREADS_H
#define __thread
#define __atomic_load_n(p, order) (*(p))
#define __atomic_store_n(p, v, order) ((void)(*(p) = (v)))
#define __atomic_add_fetch(p, v, order) (*(p) += (v))
#define __atomic_thread_fence(order) ((void)0)
#endif
