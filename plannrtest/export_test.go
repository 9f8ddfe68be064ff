package plannrtest

// CheckResponses lets the tests feed the checking wrapper a response that the
// real server never sends.
var CheckResponses = checkResponses
