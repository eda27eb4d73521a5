// Artillery processor for `npm run bench:peers`: each virtual user repeats its `GET /` for
// PEERS_SECONDS from the run's first request, the closed loop every tool in the bench runs (the
// clock starts at the first request, not at process start, because Artillery takes seconds to
// load). CommonJS because Artillery loads processors with require().
'use strict';

const seconds = Number(process.env.PEERS_SECONDS);
if (!(seconds > 0)) throw new Error('PEERS_SECONDS (the loop length in seconds) must be set');
let endAt;

module.exports = {
  untilTheEnd(_context, next) {
    endAt ??= Date.now() + seconds * 1000;
    return next(Date.now() < endAt);
  },
};
