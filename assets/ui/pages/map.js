// The map page (to be built).
"use strict";
