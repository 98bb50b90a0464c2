// Time boxes: the whole GPU lab run must end inside its budget (8 minutes on the GPU machine, in
// one call), so each section gets seconds of its own and stops starting new items when they are
// spent; whatever it skipped is named in the JSON. A section also stops when the run's overall
// deadline has passed, whatever its own budget says.

export class Section {
  readonly name: string;
  readonly budgetS: number;
  private readonly deadline: () => number;
  private readonly clock: () => number;
  private start: number | undefined;
  private end: number | undefined;

  constructor(name: string, budgetS: number, deadline: () => number, clock: () => number) {
    this.name = name;
    this.budgetS = budgetS;
    this.deadline = deadline;
    this.clock = clock;
  }

  begin(): this {
    this.start ??= this.clock();
    return this;
  }

  finish(): void {
    this.end ??= this.clock();
  }

  /** Seconds used so far (or in all, once finished). */
  used(): number {
    if (this.start === undefined) return 0;
    return ((this.end ?? this.clock()) - this.start) / 1000;
  }

  /** Seconds this section may still use. */
  left(): number {
    return Math.min(this.budgetS - this.used(), (this.deadline() - this.clock()) / 1000);
  }

  /** Whether a new item may start (at least `needS` seconds left; default: any). */
  allows(needS = 0): boolean {
    this.begin();
    return this.left() > needS;
  }
}

export class Budget {
  readonly totalS: number;
  readonly sections: Section[] = [];
  private readonly t0: number;
  private readonly clock: () => number;

  constructor(totalS: number, clock: () => number = () => performance.now()) {
    this.totalS = totalS;
    this.clock = clock;
    this.t0 = clock();
  }

  section(name: string, budgetS: number): Section {
    const s = new Section(name, budgetS, () => this.t0 + this.totalS * 1000, this.clock);
    this.sections.push(s);
    return s;
  }

  elapsed(): number {
    return (this.clock() - this.t0) / 1000;
  }

  report(): { totalS: number; elapsedS: number; sections: { name: string; budgetS: number; usedS: number }[] } {
    return {
      totalS: this.totalS,
      elapsedS: this.elapsed(),
      sections: this.sections.map((s) => ({ name: s.name, budgetS: s.budgetS, usedS: s.used() })),
    };
  }
}
