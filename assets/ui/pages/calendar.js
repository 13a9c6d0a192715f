// The calendar page (to be built).
"use strict";
