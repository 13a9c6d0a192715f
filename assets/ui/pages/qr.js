// The qr page (to be built).
"use strict";
