/** The cluster state's container record as placement reads it (one per replica and node). */
export interface ReplicaRecord {
  readonly deploymentId: string;
  readonly service: string;
  /** 0-based replica index (container number − 1). */
  readonly index: number;
  readonly nodeId: string;
  readonly status: "pending" | "running" | "healthy" | "unhealthy" | "stopped" | "failed";
  readonly specHash?: string;
  /** When its container was created, ms since the epoch: of two copies of one replica the newer stays. */
  readonly startedAt?: number;
}

