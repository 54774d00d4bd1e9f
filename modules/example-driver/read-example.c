/* Reads /dev/tailor-example (the example-driver module's kernel code) and prints what it says. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char buf[256];
	ssize_t n;
	int fd = open("/dev/tailor-example", O_RDONLY);

	if (fd < 0) {
		perror("read-example: open /dev/tailor-example");
		return 1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		perror("read-example: read");
		return 1;
	}
	buf[n] = '\0';
	printf("read-example: /dev/tailor-example says: %s", buf);
	if (n == 0 || buf[n - 1] != '\n')
		printf("\n");
	close(fd);
	return strstr(buf, "tailor-example") ? 0 : 2;
}
