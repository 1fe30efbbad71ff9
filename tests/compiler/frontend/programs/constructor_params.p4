#include <core.p4>
#include <v1model.p4>
control Sized(inout bit<32> x)(bit<32> n, bit<8> tag) {
    register<bit<32>>(n) r;
    action a() { x = x + (bit<32>)tag; }
    table t { key = { x: exact; } actions = { a; } size = n; }
    apply { t.apply(); r.write(0, x); }
}
control Top(inout bit<32> x) {
    Sized(1024, 3) s;
    apply { s.apply(x); }
}
