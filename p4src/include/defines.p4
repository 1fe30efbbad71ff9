/*
 * Constants, type aliases and sizes of the load balancer program.
 * Sizes are preprocessor macros so a build can override them with -D.
 */
#ifndef LB_DEFINES_P4
#define LB_DEFINES_P4

typedef bit<9>  port_t;
typedef bit<48> mac_addr_t;
typedef bit<32> ipv4_addr_t;
typedef bit<16> l4_port_t;
typedef bit<16> service_id_t;
typedef bit<16> backend_id_t;
typedef bit<16> nexthop_id_t;
typedef bit<16> maglev_bucket_t;
typedef bit<8>  drop_reason_t;

/* simple_switch_grpc must be started with --cpu-port 255. */
const port_t CPU_PORT = 255;

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_ARP  = 0x0806;

const bit<8> IP_PROTO_IPIP = 4;
const bit<8> IP_PROTO_TCP  = 6;
const bit<8> IP_PROTO_UDP  = 17;

const bit<16> ARP_OPER_REQUEST = 1;
const bit<16> ARP_OPER_REPLY   = 2;

const bit<8> TCP_FLAG_FIN = 0x01;
const bit<8> TCP_FLAG_SYN = 0x02;
const bit<8> TCP_FLAG_RST = 0x04;
const bit<8> TCP_FLAG_ACK = 0x10;
const bit<8> TCP_OPTION_MSS = 2;
const bit<8> TCP_OPTION_MSS_LENGTH = 4;

/* Largest MSS a SYN may announce once it travels in an IP-in-IP tunnel:
 * 1500 (MTU) - 20 (outer IPv4) - 20 (inner IPv4) - 20 (TCP). */
const bit<16> TUNNEL_MAX_MSS = 1440;
const bit<8>  TUNNEL_TTL = 64;

/* Service forwarding modes (LVS terminology). */
const bit<8> FWD_MODE_NAT = 1;
const bit<8> FWD_MODE_DR  = 2;
const bit<8> FWD_MODE_TUN = 3;

/* Who picks the backend of a new connection. */
const bit<8> SCHED_MAGLEV     = 1;
const bit<8> SCHED_CONTROLLER = 2;
/* L7 (content-aware) service: the controller's splicer picks the backend and
 * the splice tables join the two TCP connections (splice.p4). */
const bit<8> SCHED_SPLICE     = 3;

/* packet_in.reason */
const bit<8> PACKET_IN_REASON_NONE           = 0;
const bit<8> PACKET_IN_REASON_NEW_CONNECTION = 1;
/* TCP to an L7 VIP port without splice entry, or with SYN set. */
const bit<8> PACKET_IN_REASON_SPLICE_CLIENT  = 2;
/* TCP from an L7 backend endpoint without splice entry, or with SYN set. */
const bit<8> PACKET_IN_REASON_SPLICE_SERVER  = 3;

/* splice_teardown_digest_t.direction */
const bit<8> SPLICE_DIRECTION_NONE      = 0;
const bit<8> SPLICE_DIRECTION_TO_SERVER = 1;
const bit<8> SPLICE_DIRECTION_TO_CLIENT = 2;

/* Option layouts the splice stage translates, as their first 32 bits:
 * NOP NOP TS(len 10) and NOP NOP SACK(len 2 + 8 * blocks). */
const bit<32> TCP_OPTIONS_NOP_NOP_TIMESTAMP = 0x0101080A;
const bit<32> TCP_OPTIONS_NOP_NOP_SACK_1    = 0x0101050A;
const bit<32> TCP_OPTIONS_NOP_NOP_SACK_2    = 0x01010512;
const bit<32> TCP_OPTIONS_NOP_NOP_SACK_3    = 0x0101051A;
const bit<32> TCP_OPTIONS_NOP_NOP_SACK_4    = 0x01010522;
const bit<8>  TCP_SACK_LENGTH_1 = 10;
const bit<8>  TCP_SACK_LENGTH_2 = 18;
const bit<8>  TCP_SACK_LENGTH_3 = 26;
const bit<16> TCP_MAX_WINDOW = 0xFFFF;

/* packet_out.mode */
const bit<8> PACKET_OUT_MODE_DIRECT   = 0;
const bit<8> PACKET_OUT_MODE_PIPELINE = 1;

/* v1model meter colours as BMv2 writes them. */
const bit<2> METER_COLOR_GREEN = 0;

/* Index of drop_counter.  0 means "not dropped". */
const drop_reason_t DROP_NONE               = 0;
const drop_reason_t DROP_UNSUPPORTED_PACKET = 1;
const drop_reason_t DROP_BAD_IPV4_CHECKSUM  = 2;
const drop_reason_t DROP_NOT_ROUTER_MAC     = 3;
const drop_reason_t DROP_TTL_EXPIRED        = 4;
const drop_reason_t DROP_NO_ROUTE           = 5;
const drop_reason_t DROP_UNKNOWN_VIP_PORT   = 6;
const drop_reason_t DROP_NO_BACKEND         = 7;
const drop_reason_t DROP_PACKET_IN_METERED  = 8;
const drop_reason_t DROP_BAD_SERVICE_CONFIG = 9;
const drop_reason_t DROP_BAD_PACKET_OUT     = 10;
const drop_reason_t DROP_ARP_NOT_ANSWERED   = 11;
#define DROP_REASON_COUNT 12

#ifndef MAX_SERVICES
#define MAX_SERVICES 256
#endif
#ifndef MAX_BACKENDS
#define MAX_BACKENDS 1024
#endif
/* Buckets per service in maglev_table: a prime, as Maglev's table population needs. */
#ifndef MAGLEV_TABLE_SIZE
#define MAGLEV_TABLE_SIZE 251
#endif
#ifndef MAGLEV_ENTRIES
#define MAGLEV_ENTRIES 65536
#endif
#ifndef CONNECTION_TABLE_SIZE
#define CONNECTION_TABLE_SIZE 65536
#endif
#ifndef VIP_TABLE_SIZE
#define VIP_TABLE_SIZE 256
#endif
#ifndef ROUTER_MAC_TABLE_SIZE
#define ROUTER_MAC_TABLE_SIZE 64
#endif
#ifndef ARP_TABLE_SIZE
#define ARP_TABLE_SIZE 1024
#endif
#ifndef ROUTE_TABLE_SIZE
#define ROUTE_TABLE_SIZE 1024
#endif
#ifndef NEXTHOP_TABLE_SIZE
#define NEXTHOP_TABLE_SIZE 1024
#endif
#ifndef SPLICE_TABLE_SIZE
#define SPLICE_TABLE_SIZE 65536
#endif
#ifndef SPLICE_BACKEND_TABLE_SIZE
#define SPLICE_BACKEND_TABLE_SIZE 1024
#endif
#ifndef NAT_REVERSE_TABLE_SIZE
#define NAT_REVERSE_TABLE_SIZE 4096
#endif

#endif  /* LB_DEFINES_P4 */
