/** What every server in the HTTP benchmark answers, byte for byte the same. */
export const HELLO = 'Hello, World'
export const user = (id: string) => ({ id, name: `user ${id}`, roles: ['reader'] })
