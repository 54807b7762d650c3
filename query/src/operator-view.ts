// Who may see a stream's operational figures: every tenant's records share a stream's topic, so its
// rates, offsets and record counts add up every tenant's volume (tenant A would learn B's by
// subtracting its own). They are an operator's view: a key that also holds `admin`, the scope that
// may read /metrics, which carries the same numbers. DESIGN: tenant isolation in every read.
// With auth off every request holds every scope (one tenant, nothing to keep apart).

import type { Principal } from '@sluice/shared/auth/principal';

export const seesWholeStream = (principal: Principal): boolean => principal.scopes.includes('admin');
