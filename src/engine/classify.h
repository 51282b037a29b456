/*
 * engine/classify.h - engine layer: the classifier both roles share
 * (engine/classify.c). Not part of the public API.
 */
#ifndef TERN_CLASSIFY_H
#define TERN_CLASSIFY_H

#include "core/conn.h"

/* c->msg holds one whole message received (header included): checks
   that c's role may receive its type at the current level and mode,
   parses it into *c->parsed and sets *ev to its event; else fails the
   connection with unexpected_message or the parser's alert. */
int tern_classify(tern_conn *c, unsigned char *ev);

#endif
