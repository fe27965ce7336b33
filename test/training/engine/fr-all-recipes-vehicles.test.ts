import { describeShard } from './fr-all-recipes.js';

/** fast-reid's VeRi-776, VehicleID and VeRi-Wild recipes, one per distinct training signature, train two iterations (fr-all-recipes.ts). */
describeShard('vehicles');
