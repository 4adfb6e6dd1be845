/*
 * A client for BIRD's control socket (the protocol birdc speaks): connect,
 * read the "0001 BIRD x.y ready." greeting, send one command line, read
 * reply lines ("DDDD-text" continues, "DDDD text" ends, " text" continues
 * the previous code, "+..." are asynchronous notes) until the final one.
 * Codes 0xxx/1xxx/2xxx are success and table output, 8xxx/9xxx errors.
 *
 * Blocking with a timeout on every read and write; one connection per
 * command.  Thread safe (no shared state).
 */
#ifndef VD_ANYCAST_BIRDCTL_H
#define VD_ANYCAST_BIRDCTL_H

#include <stddef.h>

/*
 * Runs cmd (without newline) on the socket at path.  The reply text, with
 * the code prefixes removed, goes to out (NUL-terminated, truncated at
 * cap).  Returns the final reply code (0..9999; >= 8000 is BIRD saying
 * no), or a negative errno when BIRD could not be reached or answered
 * garbage.
 */
int vd_anycast_birdc(const char *path, const char *cmd, unsigned timeout_ms,
		     char *out, size_t cap);

#endif
