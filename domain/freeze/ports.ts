import type { AlarmReader, DeploymentPlace } from './monitors.ts';

export type { AlarmReader, DeploymentPlace };

/** The freeze context's part of what a use case is given (domain/kernel/deps.ts): the alarms monitors read, and where this deployment runs. */
declare module '../kernel/deps.ts' {
  interface Ports {
    /** reads monitors' alarm states before an execution (the promotion step's; DescribeAlarms on AWS) */
    alarms: AlarmReader;
  }
  interface Deps {
    /** the account and region this deployment runs in: monitors must be alarms there */
    deployment?: DeploymentPlace;
  }
}
