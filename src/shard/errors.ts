// Errors of the shard module. Callers and tests branch on `err.name`; every class sets it and keeps
// the fields a UI needs (which participant, how many bytes are missing, which frame field was bad).

/** What is wrong with a plan (infeasible model/participants, or a user's custom plan). */
export type PlanProblem =
  | 'no-participants'
  | 'infeasible'
  | 'memory'
  | 'gap'
  | 'overlap'
  | 'incomplete'
  | 'empty-range'
  | 'unknown-participant'
  | 'duplicate-participant'
  | 'bad-input';

export class PlanError extends Error {
  override name = 'PlanError';
  readonly problem: PlanProblem;
  /** Bytes of memory that would have to be added for the plan to fit (0 when memory is not the issue). */
  readonly missingBytes: number;
  /** The participant the problem is about, when there is one. */
  readonly participant: string | undefined;

  constructor(problem: PlanProblem, message: string, opts: { missingBytes?: number; participant?: string } = {}) {
    super(message);
    this.problem = problem;
    this.missingBytes = opts.missingBytes ?? 0;
    this.participant = opts.participant;
  }
}

export type FrameProblem =
  | 'short'
  | 'magic'
  | 'version'
  | 'dtype'
  | 'size'
  | 'checksum'
  | 'non-finite'
  | 'mismatch'
  | 'chunk';

/** A malformed, wrongly sized, corrupted or non-finite activation frame. */
export class FrameError extends Error {
  override name = 'FrameError';
  readonly problem: FrameProblem;

  constructor(problem: FrameProblem, message: string) {
    super(`${problem}: ${message}`);
    this.problem = problem;
  }
}

/** Why a participant was dropped. */
/** 'slow': answering, but its steps became several times what the plan expected (plan-links.ts). */
export type LossReason = 'timeout' | 'bye' | 'closed' | 'error' | 'frame' | 'heartbeat' | 'slow';

/** One call to a participant failed; the coordinator turns it into a loss and recovers. */
export class ParticipantLostError extends Error {
  override name = 'ParticipantLostError';
  readonly participant: string;
  readonly reason: LossReason;

  constructor(participant: string, reason: LossReason, message: string, options?: { cause?: unknown }) {
    super(`participant ${participant} lost (${reason}): ${message}`, options);
    this.participant = participant;
    this.reason = reason;
  }
}

/** The coordinator ran out of participants (or recoveries) and cannot finish the forward pass. */
export class ShardFailedError extends Error {
  override name = 'ShardFailedError';
}

/** A participant answered a request with an error of its own (name and message kept). */
export class RemoteError extends Error {
  override name = 'RemoteError';
  readonly remoteName: string;

  constructor(remoteName: string, message: string) {
    super(`${remoteName}: ${message}`);
    this.remoteName = remoteName;
  }
}

export type RoomProblem = 'bad-link' | 'refused' | 'bad-proof' | 'timeout' | 'closed';

/**
 * Joining or admitting a room peer failed: a link without room/secret, a peer whose proof of the
 * secret is wrong (refused), or a handshake that timed out or whose channel closed. Never carries
 * the secret.
 */
export class RoomError extends Error {
  override name = 'RoomError';
  readonly problem: RoomProblem;
  readonly peer: string | undefined;

  constructor(problem: RoomProblem, message: string, peer?: string) {
    super(`${problem}: ${message}`);
    this.problem = problem;
    this.peer = peer;
  }
}

/** A transport could not be used: no BroadcastChannel/RTCPeerConnection, the relay refused, ICE failed. */
export class TransportError extends Error {
  override name = 'TransportError';
}
