// The sync page (to be built).
"use strict";
