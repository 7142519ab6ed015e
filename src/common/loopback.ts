/** Whether a listening host is reachable from this machine only (a name or address of loopback). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
