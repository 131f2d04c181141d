/**
 * The cluster's side of the API (/v1/cluster/…): what `fizz init`, `join`,
 * `leave`, `nodes` and `cluster-keys` call, implemented by the membership
 * controller (controllers/cluster). Every failure is a FizzError with a
 * status: 409 not a member / already a member, 400 bad token, 403 refused by
 * the seed (wrong key or cluster), 504 no seed answered.
 */

/** One member as `fizz nodes` shows it. */
export interface ClusterNodeView {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly state: "alive" | "suspect" | "dead" | "left";
  readonly incarnation: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly resources: { readonly cpuMillis: number; readonly memoryBytes: number };
  /** Last direct ping round trip; null for self or before the first ack. */
  readonly rttMs: number | null;
  readonly self: boolean;
}

export interface ClusterInitResult {
  /** Cluster id (hex). */
  readonly cluster: string;
  readonly node: string;
  /** This node's cluster address (the seed in the token). */
  readonly address: string;
  /** The join token: it carries the cluster key, handle it like a password. */
  readonly token: string;
}

export interface ClusterJoinResult {
  readonly cluster: string;
  readonly node: string;
  readonly address: string;
  /** The seed that answered. */
  readonly via: string;
  readonly members: number;
}

export interface ClusterKeysView {
  readonly primary: string;
  readonly keys: readonly { readonly id: string; readonly primary: boolean }[];
}

export interface ClusterApi {
  init(o: { advertise?: string | undefined }): Promise<ClusterInitResult>;
  join(o: { address: string; token: string }): Promise<ClusterJoinResult>;
  leave(): Promise<{ left: boolean; node: string }>;
  nodes(): readonly ClusterNodeView[];
  keys(): ClusterKeysView;
  /** A join token for the cluster as it is now (its primary key, this node as seed): `fizz cluster token`. */
  token(): ClusterInitResult;
  installKey(key: string): ClusterKeysView & { installed: string };
  useKey(id: string): ClusterKeysView;
  removeKey(id: string): ClusterKeysView;
}
