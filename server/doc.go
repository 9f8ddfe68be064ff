// Package server builds the whole HTTP server of Plannr's OAuth2-connections
// API around any implementation of gen.StrictServerInterface.
package server
