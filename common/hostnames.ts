// What an address in a spec may be: an IPv4 address or a DNS name. Pure, no
// imports: the spec and its DNS part (common/dns.ts) share it.
import { z } from 'zod';

const HOSTNAME_RE = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** Dotted all-digit strings are meant as IPv4 addresses (no top-level domain is numeric). */
const DOTTED_NUMERIC_RE = /^[\d.]+$/;

export function isIPv4(s: string): boolean {
  return IPV4_RE.test(s);
}
export function isLoopbackV4(s: string): boolean {
  return isIPv4(s) && s.startsWith('127.');
}

/** A DNS name (not an IP address). */
export function isHostname(s: string): boolean {
  return HOSTNAME_RE.test(s) && !DOTTED_NUMERIC_RE.test(s);
}
export function isAddress(s: string): boolean {
  return DOTTED_NUMERIC_RE.test(s) ? isIPv4(s) : HOSTNAME_RE.test(s);
}
export const Address = z.string().refine(isAddress, 'must be an IPv4 address or a DNS name');
