import { createContext, useContext, type ReactNode } from 'react';
import type { Me, Role } from './api.js';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const MeContext = createContext<Me>({ name: '', role: 'viewer' });

export const useMe = (): Me => useContext(MeContext);
/** Whether the signed-in user's role may call routes of role `need` (viewer < operator < admin). */
export const useCan = (need: Role): boolean => RANK[useMe().role] >= RANK[need];

/** Shows its children only to a role that may take the action: a viewer sees no button it cannot use. */
export function Can({ role, children }: { role: Role; children: ReactNode }): ReactNode {
  return useCan(role) ? children : null;
}
