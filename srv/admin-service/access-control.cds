using { AdminService } from './service';

annotate AdminService with @requires: 'Admin';
