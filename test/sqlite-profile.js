// Jest workers run files of both projects: the pg profile of one must not reach the next.
process.env.NODE_ENV = 'test'
require('./quiet-console')
