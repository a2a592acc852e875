using from './router-service/service';
using from './router-service/access-control';
using from './analytics-service/service';
using from './analytics-service/access-control';
using from './admin-service/service';
using from './admin-service/access-control';
using from './analytics-service/aggregation';
using from './analytics-service/routing-quality';
