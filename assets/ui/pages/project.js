// The project page (to be built).
"use strict";
