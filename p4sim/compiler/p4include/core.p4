/* P4_16 core library for p4sim, written from the P4_16 language specification
 * (section "P4 core library").  Declaration names, order and signatures follow
 * the specification so that programs written for p4c compile unchanged. */

#ifndef _CORE_P4_
#define _CORE_P4_

/* Standard error codes; their order fixes their numeric values in BMv2 JSON. */
error {
    NoError,
    PacketTooShort,
    NoMatch,
    StackOutOfBounds,
    HeaderTooShort,
    ParserTimeout,
    ParserInvalidArgument
}

/* Input packet, available to parsers. */
extern packet_in {
    /* Read a fixed-size header and advance past it. */
    void extract<T>(out T hdr);
    /* Read a header whose varbit field has the given run-time size in bits. */
    void extract<T>(out T variableSizeHeader, in bit<32> variableFieldSizeInBits);
    /* Read bits ahead without advancing. */
    T lookahead<T>();
    /* Skip the given number of bits. */
    void advance(in bit<32> sizeInBits);
    /* Packet length in bytes (not supported by every target). */
    bit<32> length();
}

/* Output packet, available to deparsers. */
extern packet_out {
    /* Append a header (if valid) or all valid headers of a struct/stack/union. */
    void emit<T>(in T hdr);
}

/* Stop parsing with the given error unless check holds. */
extern void verify(in bool check, in error toSignal);

/* The action that does nothing, the usual default of tables. */
@corelib @noWarn("unused")
action NoAction() {}

/* Match kinds every target must support. */
match_kind {
    exact,
    ternary,
    lpm
}

/* Compile-time assertions (evaluated by the compiler). */
extern bool static_assert(bool check, string message);
extern bool static_assert(bool check);

#endif  /* _CORE_P4_ */
