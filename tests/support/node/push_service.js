// A Web Push service on loopback for the tests: npm's web-push-testing (it checks the VAPID
// signature and decrypts each message it receives), bound to 127.0.0.1 only.
// Usage: node push_service.js PORT
const TestingServer = require('web-push-testing/src/server.js');
const {PushApiModel} = require('web-push-testing/src/PushApiModel.js');

const port = Number(process.argv[2]);
const model = new PushApiModel();
const server = new TestingServer(model, port);
const listen = server._app.listen.bind(server._app);
server._app.listen = (p, callback) => listen(p, '127.0.0.1', callback);
server.startServer();
model.notifyUrl = `http://127.0.0.1:${port}/notify/`;
