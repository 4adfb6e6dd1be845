/*
 * Replacing a file so that a reader (BIRD, strongSwan, vipdnsd at its next
 * start) never sees a half-written one: write a temporary beside it, make
 * it durable, rename it over the name, sync the directory.
 *
 * Not thread safe per struct; distinct structs are independent.
 */
#ifndef VD_CORE_ATOMIC_FILE_H
#define VD_CORE_ATOMIC_FILE_H

#include <stdio.h>
#include <sys/types.h>

struct vd_atomic_file {
	FILE *f; /* write here between open and commit */
	char tmp[4200];
	char path[4200];
};

/* Opens "path.tmpPID" (never following a symlink there) with mode
 * applied exactly (not umask'ed).  0, or a negative errno. */
int vd_atomic_open(struct vd_atomic_file *af, const char *path, mode_t mode);
/* Flushes, fsyncs, closes and renames the temporary over path, then syncs
 * the directory.  On failure the temporary is removed and the old file is
 * untouched.  0, or a negative errno. */
int vd_atomic_commit(struct vd_atomic_file *af);
/* Closes and removes the temporary; path is untouched.  NULL-safe f. */
void vd_atomic_abort(struct vd_atomic_file *af);

#endif
