import { describeShard } from './fr-all-recipes.js';

/** fast-reid's DukeMTMC-reID SBS and MGN recipes, one per distinct training signature, train two iterations (fr-all-recipes.ts). */
describeShard('duke-sbs-mgn');
