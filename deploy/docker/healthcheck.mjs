// Container health: the admin port's /readyz (loopback). Exit 0 healthy, 1 otherwise.
import http from 'node:http';

const port = Number(process.env.JUKIGW_admin__port ?? 9464);
const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 4000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => {
  req.destroy();
  process.exit(1);
});
req.on('error', () => process.exit(1));
