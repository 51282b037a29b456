/* proofs/crypto/cert/include/openssl/x509_vfy.h: the model is in x509.h. */
#include <openssl/x509.h>
