/**
 * Integration suites read their service URL from the environment. When it is missing the suite is
 * skipped with a visible line naming the variable (`.ci/run` sets them all, so CI skips none).
 */
export type Service = 'POSTGRES' | 'REDIS' | 'NATS' | 'KAFKA';

export function serviceUrl(service: Service): string | undefined {
  return process.env[`TICKLINE_TEST_${service}`] || undefined;
}

/** The `skip` option for `describe`/`test`: false when the service is configured, else the reason. */
export function skipUnless(service: Service): false | string {
  return serviceUrl(service) ? false : `TICKLINE_TEST_${service} is not set: start the service and export it to run this suite`;
}
