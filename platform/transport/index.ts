/**
 * Cluster transports: UDP for SWIM packets and TCP streams for push-pull and
 * join, every byte sealed with the cluster keyring (core/cluster-crypto).
 * Garbage and wrong-key traffic is dropped and counted, never fatal; socket
 * failures become FizzErrors with the address and a hint. Keyrings swap at
 * runtime for rotation without a restart.
 */
export { UdpTransport, MAX_UDP_PLAINTEXT, defaultRandomBytes, type UdpAddress, type UdpCounters, type UdpDropReason, type UdpTransportOptions } from "./udp.ts";
export { TcpServer, connect, request, TCP_DEFAULTS, type ConnectOptions, type Identity, type TcpLimits, type TcpServerCounters, type TcpServerOptions, type HandshakeFailure } from "./tcp.ts";
export { SecureStream, type StreamLimits, type StreamPeer } from "./stream.ts";
export { socketError, formatAddr } from "./errors.ts";
export { parseAddr, addrString, type HostPort } from "./addr.ts";
export { ClusterEndpoint, type ClusterEndpointOptions } from "./cluster.ts";
