/* SHA-256 (FIPS 180-4), for the artifact's weights checksum. */
#ifndef QM_SHA256_H
#define QM_SHA256_H

#include <stddef.h>
#include <stdint.h>

void qm_sha256(const uint8_t *data, size_t len, uint8_t digest[32]);

#endif
