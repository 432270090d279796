// Probe for bench/xdp/probe.sh: can an AF_XDP socket, with libxdp's default redirect
// program, receive frames on this interface (queue 0) in native ("drv") or generic ("skb")
// mode? Prints what it received in five seconds; exits 0 when it received a frame.
#include <linux/if_link.h>
#include <xdp/xsk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <errno.h>
#define NUM 4096
#define FSIZE XSK_UMEM__DEFAULT_FRAME_SIZE
int main(int argc, char **argv) {
    const char *ifname = argv[1];
    unsigned flags = argc > 2 && !strcmp(argv[2], "skb") ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    void *buf = mmap(NULL, NUM * FSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct xsk_ring_prod fq, tx; struct xsk_ring_cons cq, rx;
    struct xsk_umem *umem; struct xsk_socket *xsk;
    int err = xsk_umem__create(&umem, buf, NUM * FSIZE, &fq, &cq, NULL);
    if (err) { printf("umem: %s\n", strerror(-err)); return 1; }
    struct xsk_socket_config cfg = { .rx_size = 2048, .tx_size = 2048, .xdp_flags = flags, .bind_flags = XDP_USE_NEED_WAKEUP };
    err = xsk_socket__create(&xsk, ifname, 0, umem, &rx, &tx, &cfg);
    if (err) { printf("socket (%s mode): %s\n", flags == XDP_FLAGS_SKB_MODE ? "skb" : "drv", strerror(-err)); return 1; }
    __u32 idx; xsk_ring_prod__reserve(&fq, 2048, &idx);
    for (int i = 0; i < 2048; i++) *xsk_ring_prod__fill_addr(&fq, idx + i) = (__u64)i * FSIZE;
    xsk_ring_prod__submit(&fq, 2048);
    printf("AF_XDP socket bound (%s mode); waiting\n", flags == XDP_FLAGS_SKB_MODE ? "skb" : "drv"); fflush(stdout);
    struct pollfd p = { .fd = xsk_socket__fd(xsk), .events = POLLIN };
    int got = 0;
    for (int t = 0; t < 50 && got < 5; t++) {
        poll(&p, 1, 100);
        __u32 r; unsigned n = xsk_ring_cons__peek(&rx, 16, &r);
        for (unsigned i = 0; i < n; i++) {
            const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx, r + i);
            unsigned char *pkt = xsk_umem__get_data(buf, d->addr);
            // IPv4 (no options), UDP, destination port 53: the probe's datagrams.
            if (d->len >= 42 && pkt[12] == 0x08 && pkt[13] == 0x00 && pkt[23] == 17
                && pkt[36] == 0 && pkt[37] == 53) {
                printf("received a %u-octet frame: UDP to port 53\n", d->len);
                got++;
            }
        }
        if (n) xsk_ring_cons__release(&rx, n);
    }
    printf("DNS frames received: %d\n", got);
    xsk_socket__delete(xsk); xsk_umem__delete(umem);
    return got ? 0 : 2;
}
