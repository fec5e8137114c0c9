import { embeddedDeployment } from './deployments.ts';
import { platformSuite } from './platform.suite.ts';

platformSuite('embedded, one process', embeddedDeployment);
