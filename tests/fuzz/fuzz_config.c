/*
 * libFuzzer target for the config parser: any bytes as a config file.  A
 * config that parses must also dump and parse back (the dump is the
 * documented way to see the effective configuration).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/compiler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Opened once: the dump's output is irrelevant, only that it runs. */
	static FILE *devnull;
	static struct vd_config cfg, again;
	char err[512];

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	/* Exact-size copy plus NUL so ASan sees any over-read of the text. */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (vd_config_parse_string(&cfg, "fuzz", text, err, sizeof(err)) == 0) {
		if (devnull)
			vd_config_dump(devnull, &cfg);
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);
		if (mem) {
			vd_config_dump(mem, &cfg);
			fclose(mem);
			/* What we print must read back as the same config. */
			vd_require(vd_config_parse_string(&again, "dump", buf,
							  err, sizeof(err)) == 0);
			vd_require(memcmp(&cfg, &again, sizeof(cfg)) == 0);
			free(buf);
		}
	} else {
		/* Every rejection must say where and why. */
		vd_require(strncmp(err, "fuzz:", 5) == 0);
	}
	free(text);
	return 0;
}
