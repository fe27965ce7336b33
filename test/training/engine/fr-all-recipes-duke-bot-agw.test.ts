import { describeShard } from './fr-all-recipes.js';

/** fast-reid's DukeMTMC-reID bagtricks and AGW recipes, one per distinct training signature, train two iterations (fr-all-recipes.ts). */
describeShard('duke-bot-agw');
