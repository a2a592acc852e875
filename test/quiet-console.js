// What CAP and its plugins print on every server start, or for requests that tests make fail on purpose, is not
// news; test/global-setup.js sets the log levels, this drops what no level reaches. Anything else still shows.
const log = console.log.bind(console), error = console.error.bind(console)
const notNews = [
  // cds-plugin-ui5 stays off in jest unless a test turns it on (test/browser), and says so each time
  args => args[1] === 'cds-plugin-ui5' && /^Skip execution/.test(args[2]),
  // cds serve announces a server.ts with a plain console.log
  args => args[0] === '[cds] - bootstrapping from',
]
console.log = (...args) => { if (!notNews.some(matches => matches(args))) log(...args) }
// CAP logs a 501 answer as a server error; here it is OData that the service leaves unimplemented, asked on purpose
console.error = (...args) => { if (!(args[0] === '[odata] -' && args[1] === 501)) error(...args) }
