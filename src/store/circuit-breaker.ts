// A per-gateway circuit breaker: after `threshold` consecutive failures the gateway is skipped
// ("open") for `cooldownMs`; then one trial request is let through ("half-open"): success closes
// the circuit, failure opens it again for another cool-down.

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  threshold?: number;
  cooldownMs?: number;
  now?: () => number;
  onChange?: (state: CircuitState) => void;
}

export class CircuitBreaker {
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly onChange: ((state: CircuitState) => void) | undefined;
  private current: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;

  constructor(options: CircuitBreakerOptions = {}) {
    this.threshold = options.threshold ?? 5;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.onChange = options.onChange;
  }

  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.cooldownMs) this.set('half-open');
    return this.current;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** May a request start now? In half-open, only one trial at a time. */
  canRequest(): boolean {
    const s = this.state;
    return s === 'closed' || (s === 'half-open' && !this.trialInFlight);
  }

  /** Call when a request actually starts (claims the half-open trial slot). */
  onStart(): void {
    if (this.state === 'half-open') this.trialInFlight = true;
  }

  onSuccess(): void {
    this.failures = 0;
    this.trialInFlight = false;
    if (this.current !== 'closed') this.set('closed');
  }

  onFailure(): void {
    this.failures++;
    this.trialInFlight = false;
    if (this.current === 'half-open' || (this.current === 'closed' && this.failures >= this.threshold)) {
      this.openedAt = this.now();
      this.set('open');
    }
  }

  /** The request was cancelled (hedge lost, caller aborted): no verdict, free the trial slot. */
  onCancel(): void {
    this.trialInFlight = false;
  }

  private set(state: CircuitState): void {
    this.current = state;
    this.onChange?.(state);
  }
}
