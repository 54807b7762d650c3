// The tools send the key in SLUICE_API_KEY (./sluice gen and send set the demo tenant's write key
// when it is unset), never on a command line where `ps` would show it.

export function authHeader(): Record<string, string> {
  const key = process.env.SLUICE_API_KEY;
  return key === undefined || key === '' ? {} : { authorization: `Bearer ${key}` };
}
