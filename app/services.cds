// The Fiori apps' annotations; cds serve, cds build and cds compile load this file with app/.
using from './common';
using from './decisions/annotations';
using from './assignments/annotations';
using from './performance/annotations';
using from './models/annotations';
