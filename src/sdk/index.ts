export { type Connection, type ConnectOptions, channelCredentials, connect, deadline, unary } from './connection.js';
