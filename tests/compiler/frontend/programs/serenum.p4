#include <core.p4>
enum bit<16> ET { IPV4 = 0x800, ARP = 0x806 }
header h_t { ET t; bit<16> raw; }
struct s_t { h_t h; }
const bit<16> K = ET.ARP + 1;
parser P(packet_in p, out s_t s) {
    state start {
        p.extract(s.h);
        transition select(s.h.t) { ET.IPV4: accept; 0x806: accept; default: reject; }
    }
}
control C(inout s_t s) {
    apply {
        if (s.h.t == 0x800 || s.h.t == s.h.raw || s.h.t == ET.ARP) { s.h.raw = s.h.t; }
        s.h.raw = s.h.t + 1;
    }
}
