#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vd_atomic_open(struct vd_atomic_file *af, const char *path, mode_t mode)
{
	af->f = NULL;
	if ((size_t)snprintf(af->path, sizeof(af->path), "%s", path) >=
		    sizeof(af->path) ||
	    (size_t)snprintf(af->tmp, sizeof(af->tmp), "%s.tmp%ld", path,
			     (long)getpid()) >= sizeof(af->tmp))
		return -ENAMETOOLONG;
	int fd = open(af->tmp,
		      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		      mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) != 0 || !(af->f = fdopen(fd, "w"))) {
		int e = errno;
		close(fd);
		(void)unlink(af->tmp);
		return -e;
	}
	return 0;
}

/* The rename is durable only once the directory entry is. */
static void sync_dir(const char *path)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s", path);
	int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int vd_atomic_commit(struct vd_atomic_file *af)
{
	int rc = 0;
	if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0)
		rc = -errno;
	if (fclose(af->f) != 0 && rc == 0)
		rc = -errno;
	af->f = NULL;
	if (rc == 0 && rename(af->tmp, af->path) != 0)
		rc = -errno;
	if (rc != 0) {
		(void)unlink(af->tmp);
		return rc;
	}
	sync_dir(af->path);
	return 0;
}

void vd_atomic_abort(struct vd_atomic_file *af)
{
	if (af->f)
		fclose(af->f);
	af->f = NULL;
	(void)unlink(af->tmp);
}
