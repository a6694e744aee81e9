/**
 * `@cosmictron/react`: hooks over `@cosmictron/client`.
 *
 * ```tsx
 * <CosmictronProvider client={client}><UserList /></CosmictronProvider>
 * const users = useQuery('SELECT * FROM users');   // users.rows, users.loading, users.error
 * const createUser = useReducer('create_user');      // await createUser({ username: 'bob' })
 * const identity = useIdentity();
 * ```
 */

export { CosmictronProvider, useCosmictron } from './context.js';
export { useIdentity } from './use-identity.js';
export { useQuery } from './use-query.js';
export type { QueryState } from './use-query.js';
export { useReducer } from './use-reducer.js';
